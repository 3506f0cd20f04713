"""Pydantic request and response models: the API's language (storage models live in ``store``)."""
