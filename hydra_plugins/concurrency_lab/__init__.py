"""The lab's Hydra plugins, found by Hydra's plugin discovery (the ``hydra_plugins`` namespace)."""
