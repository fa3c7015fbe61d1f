"""E-mail as a channel: reading letters (RFC 5322) and writing them, the SMTP and IMAP ends.

Adapters only: what a letter says and how it travels. What a letter does to a request is the
domain's (the intake's command), who is told of what is the notifications process's."""
