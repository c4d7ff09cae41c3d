-- title: Clusters of copies of a story
-- description: Stories stored more than once (exact, URL, near and altered copies folded together): how many copies, from which outlets, first and last published. The cluster_copies view lists the copies of one cluster (filter on cluster_id).
SELECT
  a.cluster_id,
  root.title AS story,
  count(*) AS copies,
  count(DISTINCT a.outlet) AS outlets,
  group_concat(DISTINCT a.outlet) AS outlet_names,
  sum(a.duplicate_kind = 'exact') AS exact,
  sum(a.duplicate_kind = 'url') AS same_url,
  sum(a.duplicate_kind = 'near') AS near,
  sum(a.duplicate_kind = 'altered') AS altered,
  min(a.published_at) AS first_published,
  max(a.published_at) AS last_published,
  root.url AS first_url
FROM articles AS a
JOIN articles AS root ON root.id = a.cluster_id
WHERE a.cluster_id IS NOT NULL
GROUP BY a.cluster_id
HAVING count(*) > 1
ORDER BY last_published DESC, a.cluster_id
