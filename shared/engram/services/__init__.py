"""Behaviour: sessions, memories, retrieval and intelligence. No SDK calls here (see ``store``)."""
