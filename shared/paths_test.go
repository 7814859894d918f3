package shared

import "testing"

func TestPath(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pattern string
		args    []any
		want    string
	}{
		{"no parameter", PathApps, nil, "/api/v1/admin/apps"},
		{"app", PathApp, []any{"shop"}, "/api/v1/admin/apps/shop"},
		{"slug check keeps its literal", PathSlugCheck, []any{"shop"}, "/api/v1/admin/apps/shop/slug:check"},
		{"app and id", PathDomain, []any{"shop", int64(7)}, "/api/v1/admin/apps/shop/domains/7"},
		{"escaped segment", PathEnvVar, []any{"a/b c", "NAME"}, "/api/v1/admin/apps/a%2Fb%20c/env/NAME"},
		{"nested", PathScheduleRun, []any{"1", int64(2)}, "/api/v1/admin/apps/1/schedules/2/run"},
		{"script", PathRollback, []any{int64(3)}, "/api/v1/admin/scripts/3/rollback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Path(tc.pattern, tc.args...); got != tc.want {
				t.Errorf("Path(%q, %v) = %q, want %q", tc.pattern, tc.args, got, tc.want)
			}
		})
	}
}

func TestPathRefusesMisfits(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []any
	}{
		{"too few", []any{"shop"}},
		{"too many", []any{"shop", int64(1), int64(2)}},
		{"wrong type", []any{"shop", 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			Path(PathDomain, tc.args...)
		})
	}
}
