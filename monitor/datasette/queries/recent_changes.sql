-- title: Changes of control in the last N days, with their sources
-- description: One row per source of every change whose event date falls in the last :days days (30 when left empty): the town, from and to, confidence, and the article (outlet, title, URL, quote) behind each claim. Background changes were only recalled as history and never alerted.
SELECT
  c.event_date,
  t.name AS town,
  c.from_side,
  c.to_side,
  c.confidence,
  c.kind,
  c.is_background,
  c.source_count AS independent_sources,
  c.detected_at,
  a.outlet,
  a.title,
  a.url,
  a.published_at,
  cl.quote,
  c.town_id
FROM control_changes AS c
JOIN towns AS t ON t.id = c.town_id
LEFT JOIN json_each(CASE WHEN json_valid(c.claim_ids) THEN c.claim_ids ELSE '[]' END) AS j
LEFT JOIN claims AS cl ON cl.id = j.value
LEFT JOIN articles AS a ON a.id = cl.article_id
WHERE c.event_date >= date('now', '-' || coalesce(nullif(abs(cast(:days AS integer)), 0), 30) || ' days')
ORDER BY c.event_date DESC, t.name, c.id, a.published_at
