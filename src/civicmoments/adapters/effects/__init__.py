"""Effect providers: the embedded ones, and delivery over HTTP to an outside system."""
