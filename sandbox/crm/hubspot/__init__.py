"""The local HubSpot CRM API: one router per API area, over the HubSpot store.

    app.py           build_hubspot_app: the routers, the error handlers, the middleware
    deps.py          what routes depend on (store, object type, search cache)
    wire.py          request parsing and the errors HubSpot answers with
    gate.py          tokens, scopes and rate limits, checked before any route runs
    oauth.py         POST /oauth/v1/token
    objects.py       list, read, create, update, archive one object
    search.py        POST .../objects/{type}/search (search_filters.py, search_cache.py)
    batch.py         POST .../objects/{type}/batch/read | update (batches.py)
    associations.py  POST /crm/v4/associations/{from}/{to}/batch/read
    properties.py    /crm/v3/properties/{type}[/groups]
    pipelines.py     /crm/v3/pipelines/{type}      owners.py  /crm/v3/owners

The data side: store.py (objects, history, associations), schema.py (object types and
properties), auth.py (tokens and scopes), render.py and lookup.py (objects as the API shows
and finds them), webhooks.py (change events POSTed to a subscriber).
"""
