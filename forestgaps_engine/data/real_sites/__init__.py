"""Real lidar clouds and CHM rasters as prepared sites (unit conversion, ground filter, provenance)."""
