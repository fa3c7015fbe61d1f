"""The audit's evidence apart from the routes that serve it: the signing key (keys), the seals of
the log's head and the Sealer (seals), the full-store checks' records (checks), and the shipping
of seals off the host (shipping). It imports domain/ and projections/, never web/: the web
service, its start-up and the `suz` command all build on it."""
