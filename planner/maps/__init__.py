"""The edge that draws: Folium/Leaflet maps of assets, sites, exclusion zones and plans.

The only subpackage that imports folium. Import `planner.maps.render` (or use
`planner.asset_map`, loaded on first use) so that ``import planner`` stays light.
"""
