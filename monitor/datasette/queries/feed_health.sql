-- title: Feed health
-- description: Every feed with its state (ok, failing, gone, disabled), last HTTP status and error, when it last worked and when it is next checked, its fetches and errors in the last 24 hours, and the articles it brought (kept = about the front).
SELECT
  f.name,
  f.outlet,
  CASE
    WHEN f.is_gone THEN 'gone'
    WHEN NOT f.is_enabled THEN 'disabled'
    WHEN f.error_count > 0 THEN 'failing'
    ELSE 'ok'
  END AS state,
  f.last_status,
  f.error_count,
  f.last_error,
  f.last_success_at,
  f.last_checked_at,
  f.next_check_at,
  f.last_entry_at,
  h.state AS health_alert,
  (SELECT count(*) FROM fetches AS x
    WHERE x.feed_id = f.id AND x.started_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 day')) AS fetches_24h,
  (SELECT count(*) FROM fetches AS x
    WHERE x.feed_id = f.id AND x.outcome = 'error'
      AND x.started_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 day')) AS errors_24h,
  (SELECT count(*) FROM articles AS a WHERE a.feed_id = f.id) AS articles,
  (SELECT count(*) FROM articles AS a WHERE a.feed_id = f.id AND a.is_relevant = 1) AS kept,
  f.url
FROM feeds AS f
LEFT JOIN feed_health AS h ON h.feed_id = f.id
ORDER BY f.is_gone = 0 AND f.is_enabled = 1 AND f.error_count = 0, f.error_count DESC, f.name
