"""The sandbox CRM: a local, faithful subset of the Salesforce REST API and the HubSpot CRM API.

Data flows one way::

    export folder --loader--> stores (Salesforce, HubSpot) <--clock applies future versions
                                  |
                 FastAPI apps (salesforce_app over HTTPS, hubspot_app over HTTP)
                                  |
                 SandboxServer (uvicorn on loopback) <-- the real client libraries

It shares no code with the connectors it is used to test.
"""

from sandbox.crm.config import SandboxConfig
from sandbox.crm.sandbox import Sandbox
from sandbox.crm.server import SandboxServer

__all__ = ["Sandbox", "SandboxConfig", "SandboxServer"]
