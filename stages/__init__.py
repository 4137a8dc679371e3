"""Stage kinds: one module per kind behind the ``stages.base.Stage`` protocol."""
