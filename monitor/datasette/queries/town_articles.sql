-- title: Articles and claims about one town
-- description: Every stored article that names the town, newest first, with the control claims it makes about it. :town is the canonical name, a spelling the sources used, or the gazetteer id (case does not matter).
WITH town AS MATERIALIZED (
  SELECT id, name FROM towns
  WHERE id = :town
     OR lower(name) = lower(:town)
     OR EXISTS (
       SELECT 1 FROM json_each(CASE WHEN json_valid(spellings) THEN spellings ELSE '[]' END) AS s
       WHERE lower(s.value) = lower(:town)
     )
)
SELECT
  a.published_at,
  a.outlet,
  a.title,
  a.url,
  a.is_relevant,
  coalesce(a.duplicate_kind, 'original') AS copy,
  c.place AS written_as,
  c.gained_by,
  c.lost_by,
  c.status AS claim_status,
  c.event_date,
  c.quote,
  town.name AS town,
  a.id AS article_id
FROM town
JOIN articles AS a ON a.id IN (
  SELECT x.article_id FROM claims AS x WHERE x.town_id = town.id
  UNION
  -- instr() is a cheap pre-filter, so that only a few rows have their JSON parsed
  SELECT b.id FROM articles AS b
  WHERE instr(b.matched_places, '"' || town.name || '"') > 0
    AND EXISTS (
      SELECT 1 FROM json_each(CASE WHEN json_valid(b.matched_places) THEN b.matched_places ELSE '[]' END) AS p
      WHERE p.value = town.name
    )
)
LEFT JOIN claims AS c ON c.article_id = a.id AND c.town_id = town.id
ORDER BY a.published_at DESC, a.id, c.id
