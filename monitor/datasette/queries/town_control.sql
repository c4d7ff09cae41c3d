-- title: Current control of every watched town
-- description: Who holds each watched town now, since when (event date), how sure (claimed, confirmed, contested), from how many independent sources, and the change that gave it to the holder. "no claim" means no stored article said who holds it.
SELECT
  t.name AS town,
  t.governorate,
  coalesce(t.holder, 'no claim') AS holder,
  t.since,
  t.confidence,
  t.source_count AS sources,
  c.from_side AS taken_from,
  c.kind AS change_kind,
  c.detected_at,
  (SELECT count(*) FROM control_changes AS h WHERE h.town_id = t.id) AS changes,
  t.lat,
  t.lon,
  t.id AS town_id
FROM towns AS t
LEFT JOIN control_changes AS c ON c.town_id = t.id AND c.is_current = 1
WHERE t.watched = 1 AND (t.holder IS NOT NULL OR t.kind NOT IN ('governorate', 'district', 'area'))
ORDER BY t.holder IS NULL, t.governorate, t.name
