"""The API's typed models and the documents generated from them (docs/api.md).

`answers` holds what the routes answer, `bodies` what they read (the commands' bodies come from
the command registries), `live` the /live websocket's messages and its AsyncAPI document;
web/openapi.py puts the operations together into the OpenAPI document.
"""
