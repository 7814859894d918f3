package server

import (
	"io"
	"strings"
	"testing"

	"github.com/picloud/picloud/shared"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(t *testing.T, c Config)
		wantErr string // substring naming the setting
	}{
		{name: "defaults", check: func(t *testing.T, c Config) {
			if c.DataDir != "./picloud-data" || c.Bind != ":8080" || c.AdminBind != ":7070" ||
				!c.AdminTLS || !c.MDNS || c.LogRetention != 10000 || c.Ceiling != shared.BuiltinCeiling() {
				t.Errorf("defaults = %+v", c)
			}
		}},
		{name: "env", env: map[string]string{
			"PICLOUD_DATA": "/tmp/x", "PICLOUD_BIND": "127.0.0.1:9000", "PICLOUD_ADMIN_BIND": ":9001",
			"PICLOUD_ADMIN_TLS": "off", "PICLOUD_NODE_NAME": "pi-4", "PICLOUD_MDNS": "off",
			"PICLOUD_LOG_RETENTION": "50", "PICLOUD_ADMIN_TOKEN": "fixed",
		}, check: func(t *testing.T, c Config) {
			if c.DataDir != "/tmp/x" || c.Bind != "127.0.0.1:9000" || c.AdminBind != ":9001" || c.AdminTLS ||
				c.Name != "pi-4" || c.MDNS || c.LogRetention != 50 || c.AdminToken != "fixed" {
				t.Errorf("from env = %+v", c)
			}
		}},
		{name: "flag wins over env",
			args: []string{"--data", "/flag", "--mdns", "on", "--name", "flagname", "--log-retention", "7"},
			env:  map[string]string{"PICLOUD_DATA": "/env", "PICLOUD_MDNS": "off", "PICLOUD_NODE_NAME": "envname", "PICLOUD_LOG_RETENTION": "9"},
			check: func(t *testing.T, c Config) {
				if c.DataDir != "/flag" || !c.MDNS || c.Name != "flagname" || c.LogRetention != 7 {
					t.Errorf("flags = %+v", c)
				}
			}},
		{name: "ceiling from env", env: map[string]string{"PICLOUD_SANDBOX_MAX_OPERATIONS": "500", "PICLOUD_SANDBOX_MAX_TIMEOUT_MS": "60000"},
			check: func(t *testing.T, c Config) {
				if c.Ceiling.MaxOperations != 500 || c.Ceiling.TimeoutMS != 60000 {
					t.Errorf("ceiling = %+v", c.Ceiling)
				}
			}},
		{name: "invalid ceiling is skipped", env: map[string]string{"PICLOUD_SANDBOX_MAX_OPERATIONS": "lots", "PICLOUD_SANDBOX_MAX_ARRAY_SIZE": "0"},
			check: func(t *testing.T, c Config) {
				if c.Ceiling != shared.BuiltinCeiling() {
					t.Errorf("ceiling = %+v, want built-in", c.Ceiling)
				}
			}},
		{name: "bad tls", env: map[string]string{"PICLOUD_ADMIN_TLS": "maybe"}, wantErr: "PICLOUD_ADMIN_TLS"},
		{name: "bad mdns flag", args: []string{"--mdns=sometimes"}, wantErr: "mdns"},
		{name: "bad retention", env: map[string]string{"PICLOUD_LOG_RETENTION": "-1"}, wantErr: "PICLOUD_LOG_RETENTION"},
		{name: "bad retention text", args: []string{"--log-retention", "many"}, wantErr: "log-retention"},
		{name: "kv limits", env: map[string]string{"PICLOUD_KV_MAX_VALUE": "2048", "PICLOUD_KV_MAX_APP_BYTES": "999"},
			args: []string{"--kv-max-app-bytes", "4096"},
			check: func(t *testing.T, c Config) {
				if c.KVMaxValue != 2048 || c.KVMaxAppBytes != 4096 {
					t.Errorf("kv limits = %d, %d", c.KVMaxValue, c.KVMaxAppBytes)
				}
			}},
		{name: "kv defaults", check: func(t *testing.T, c Config) {
			if c.KVMaxValue != 1<<20 || c.KVMaxAppBytes != 64<<20 {
				t.Errorf("kv limits = %d, %d", c.KVMaxValue, c.KVMaxAppBytes)
			}
		}},
		{name: "bad kv value limit", env: map[string]string{"PICLOUD_KV_MAX_VALUE": "1MB"}, wantErr: "PICLOUD_KV_MAX_VALUE"},
		{name: "bad kv quota", args: []string{"--kv-max-app-bytes", "0"}, wantErr: "kv-max-app-bytes"},
		{name: "bad bind", env: map[string]string{"PICLOUD_BIND": "8080"}, wantErr: "PICLOUD_BIND"},
		{name: "bad admin port", args: []string{"--admin-bind", ":99999"}, wantErr: "admin-bind"},
		{name: "empty name", args: []string{"--name", " "}, wantErr: "PICLOUD_NODE_NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, warnings, err := ParseConfig(NewFlagSet("t", io.Discard), tt.args, envMap(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "invalid ceiling is skipped" && len(warnings) != 2 {
				t.Errorf("warnings = %q, want 2", warnings)
			}
			tt.check(t, c)
		})
	}
}
