"""The lessons: numbered bug hunts that train small models."""
