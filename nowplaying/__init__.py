"""The composition root: the only package that imports both poller/ and web/."""
