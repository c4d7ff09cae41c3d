-- title: Towns of the front with coordinates (the map's data)
-- description: The points drawn by the map of the front (/-/front-map): every watched town with coordinates, its holder and confidence.
SELECT
  t.id AS town_id,
  t.name AS town,
  t.governorate,
  t.holder,
  t.since,
  t.confidence,
  t.lat,
  t.lon
FROM towns AS t
WHERE t.watched = 1 AND t.lat IS NOT NULL AND t.lon IS NOT NULL
ORDER BY t.holder IS NULL, t.name
