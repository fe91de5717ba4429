"""The local Salesforce REST API: one router per API area, over the Salesforce store.

    app.py          build_salesforce_app: the routers, the error handlers, the middleware
    deps.py         what routes depend on (store, session, API version, sObject, cursors, jobs)
    wire.py         request parsing and the errors Salesforce answers with
    oauth.py        POST /services/oauth2/token
    resources.py    GET /services/data, .../vNN.N, .../limits
    describe.py     GET .../sobjects, .../sobjects/{type}, .../sobjects/{type}/describe
    replication.py  GET .../sobjects/{type}/updated, .../deleted
    records.py      GET, POST, PATCH, DELETE .../sobjects/{type}[/{id}]
    query.py        GET .../query, .../queryAll and their locator pages (cursors.py)
    composite.py    PATCH .../composite/sobjects (sObject Collections)
    bulk_query.py   Bulk API 2.0 query jobs     bulk_ingest.py  Bulk API 2.0 ingest jobs
    tooling.py      POST .../tooling/sobjects/CustomField

The data side: store.py (records), schema.py (objects and fields), auth.py (sessions),
soql.py and soql_eval.py (queries), writes.py and ingest_job.py (saving updates).
"""
