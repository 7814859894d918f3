-- The default app also claims the loopback addresses (SPEC §2), so that
-- curl http://127.0.0.1:8080/ answers like http://localhost:8080/. A claim
-- another app already holds stays with it. A fresh database has no default
-- app yet: the store creates it with all three claims.
INSERT INTO app_domains (app_id, pattern, shape_key, created_at)
SELECT apps.id, loopback.pattern, loopback.pattern, strftime('%Y-%m-%dT%H:%M:%S.000000000Z', 'now')
FROM apps, (SELECT '127.0.0.1' AS pattern UNION ALL SELECT '::1') AS loopback
WHERE apps.slug = 'default'
ON CONFLICT (shape_key) DO NOTHING;
