"""The platform layer: knows no system and no model.

Environment and state folder (`env`), stack files (`stackfile`) and their registration
(`registration`), object storage credentials (`objectstore`), the servers the project starts
(`services`, with `processes` below them), our ZenML flavors (`flavors`), the Kubernetes renderer
(`k8s_render`) and the old module names that stored state still names (`legacy`).
"""
