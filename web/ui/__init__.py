"""The server-rendered web UI: jinja2 pages made lively with htmx and the /live websocket."""
