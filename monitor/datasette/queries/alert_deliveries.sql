-- title: Alert deliveries pending or failed
-- description: Deliveries of alerts that have not arrived yet: failed ones first (they need an operator: fix the channel, then `monitor alerts retry`), then pending ones with their next try.
SELECT
  d.state,
  d.channel,
  d.channel_kind,
  d.attempts,
  d.last_error,
  d.next_try_at,
  d.last_attempt_at,
  a.kind AS alert_kind,
  t.name AS town,
  a.from_side,
  a.to_side,
  a.confidence,
  a.event_date,
  d.created_at,
  d.alert_id
FROM deliveries AS d
JOIN alerts AS a ON a.id = d.alert_id
LEFT JOIN towns AS t ON t.id = a.town_id
WHERE d.state IN ('pending', 'failed')
ORDER BY d.state = 'failed' DESC, d.created_at, d.id
