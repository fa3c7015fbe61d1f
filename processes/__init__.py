"""Process managers: background processes that follow the views and send commands through the
desk's one dispatcher (the SLA timer, the automatic assigner, the incident and follow-up
processes, the notifications' sender)."""
