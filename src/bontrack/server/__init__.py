"""Request plumbing shared by the HTTP edges (``api`` and ``web``): the application state, one
transaction per request, the signed-in actor, and the error handlers. Neither edge imports
the other; both import this."""
