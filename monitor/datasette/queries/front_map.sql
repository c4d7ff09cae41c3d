-- title: Towns of the front with coordinates (the map's data)
-- description: What the map of the front (/-/front-map) draws: every watched town with coordinates, its holder and confidence, and the held towns the gazetteer has no coordinates for (listed under the map).
SELECT
  t.id AS town_id,
  t.name AS town,
  t.governorate,
  t.holder,
  t.since,
  t.confidence,
  t.lat,
  t.lon,
  t.kind
FROM towns AS t
WHERE t.watched = 1 AND ((t.lat IS NOT NULL AND t.lon IS NOT NULL) OR t.holder IS NOT NULL)
ORDER BY t.holder IS NULL, t.name
