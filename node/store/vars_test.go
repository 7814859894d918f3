package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/picloud/picloud/node/secrets"
	"github.com/picloud/picloud/shared"
)

// openWithKey opens a fresh store whose secrets are sealed under a key of
// its own, made in the test's directory as the node makes it.
func openWithKey(t testing.TB) (*Store, string) {
	t.Helper()
	s, path := openTest(t)
	s.UseSecrets(testKey(t, filepath.Join(filepath.Dir(path), secrets.FileName)))
	return s, path
}

func testKey(t testing.TB, path string) *secrets.Key {
	t.Helper()
	k, _, err := secrets.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func putEnv(t testing.TB, s *Store, appID int64, name, value string, secret bool) shared.EnvVar {
	t.Helper()
	v, err := s.PutEnv(context.Background(), appID, name, value, &secret)
	if err != nil {
		t.Fatalf("PutEnv(%s): %v", name, err)
	}
	return v
}

func TestEnvListsSecretsWithoutValues(t *testing.T) {
	s, _ := openWithKey(t)
	ctx := context.Background()
	a := mkApp(t, s, "shop")
	if v := putEnv(t, s, a.ID, "GREETING", "hello", false); v.Value == nil || *v.Value != "hello" || v.Secret {
		t.Errorf("PutEnv(variable) = %+v, want its value", v)
	}
	if v := putEnv(t, s, a.ID, "API_TOKEN", "t0k3n", true); v.Value != nil || !v.Secret || v.Unreadable {
		t.Errorf("PutEnv(secret) = %+v, want no value", v)
	}
	env, err := s.Env(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(env) != 2 || env[0].Name != "API_TOKEN" || env[0].Value != nil || !env[0].Secret ||
		env[1].Name != "GREETING" || *env[1].Value != "hello" || env[1].UpdatedAt.IsZero() {
		t.Errorf("Env = %+v", env)
	}
	if _, err := s.Env(ctx, 999); !shared.IsCode(err, shared.CodeNotFound) {
		t.Errorf("Env of an unknown app = %v, want not_found", err)
	}
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []EnvValue{{a.ID, "API_TOKEN", "t0k3n", true}, {a.ID, "GREETING", "hello", false}}
	if fmt.Sprint(snap.Env) != fmt.Sprint(want) {
		t.Errorf("Snapshot.Env = %+v, want %+v", snap.Env, want)
	}
}

func TestPutEnvKeepsTheKindUnlessTold(t *testing.T) {
	s, _ := openWithKey(t)
	ctx := context.Background()
	a := mkApp(t, s, "shop")
	putEnv(t, s, a.ID, "TOKEN", "one", true)
	// A PUT without "secret" replaces the value and keeps it secret.
	v, err := s.PutEnv(ctx, a.ID, "TOKEN", "two", nil)
	if err != nil || !v.Secret || v.Value != nil {
		t.Fatalf("PutEnv without secret = %+v, %v; want it still secret", v, err)
	}
	if v, _ := s.PutEnv(ctx, a.ID, "NEW", "x", nil); v.Secret {
		t.Errorf("a new entry without secret is secret: %+v", v)
	}
	// Said explicitly, it becomes a plain variable.
	if v := putEnv(t, s, a.ID, "TOKEN", "three", false); v.Secret || *v.Value != "three" {
		t.Errorf("PutEnv(secret false) = %+v", v)
	}
}

func TestEnvAtMost128PerApp(t *testing.T) {
	s, _ := openWithKey(t)
	ctx := context.Background()
	a, b := mkApp(t, s, "full"), mkApp(t, s, "other")
	for i := range shared.MaxEnvEntries {
		putEnv(t, s, a.ID, fmt.Sprintf("V%d", i), "x", i%2 == 0)
	}
	_, err := s.PutEnv(ctx, a.ID, "ONE_MORE", "x", nil)
	if e, ok := shared.AsError(err); !ok || e.Code != shared.CodeValidationFailed || e.Detail("field") != "name" {
		t.Fatalf("the 129th entry = %v, want 422 validation_failed on name", err)
	}
	// Replacing one of the 128 is fine, and so is another app's first.
	putEnv(t, s, a.ID, "V7", "replaced", false)
	putEnv(t, s, b.ID, "V0", "x", false)
	if err := s.DeleteEnv(ctx, a.ID, "V0"); err != nil {
		t.Fatal(err)
	}
	putEnv(t, s, a.ID, "ONE_MORE", "x", false)
	if env, _ := s.Env(ctx, a.ID); len(env) != shared.MaxEnvEntries {
		t.Errorf("%d entries, want %d", len(env), shared.MaxEnvEntries)
	}
}

func TestDeleteEnv(t *testing.T) {
	s, _ := openWithKey(t)
	ctx := context.Background()
	a, b := mkApp(t, s, "a"), mkApp(t, s, "b")
	putEnv(t, s, a.ID, "TOKEN", "x", true)
	putEnv(t, s, b.ID, "TOKEN", "y", true)
	if err := s.DeleteEnv(ctx, a.ID, "TOKEN"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteEnv(ctx, a.ID, "TOKEN"); !shared.IsCode(err, shared.CodeNotFound) {
		t.Errorf("second delete = %v, want not_found", err)
	}
	if err := s.DeleteEnv(ctx, 999, "TOKEN"); !shared.IsCode(err, shared.CodeNotFound) {
		t.Errorf("delete in an unknown app = %v, want not_found", err)
	}
	if env, _ := s.Env(ctx, b.ID); len(env) != 1 {
		t.Errorf("another app's entry went too: %+v", env)
	}
}

// Neither the database nor its WAL holds a secret's value in clear, while
// a plain variable's value is there (so the search would find it).
func TestSecretsAreNotStoredInClear(t *testing.T) {
	s, path := openWithKey(t)
	a := mkApp(t, s, "shop")
	const secret, plain = "sk_live_9f8e7d6c5b4a39281706", "plain-value-5a4b3c2d1e"
	putEnv(t, s, a.ID, "STRIPE_KEY", secret, true)
	putEnv(t, s, a.ID, "MODE", plain, false)
	putEnv(t, s, a.ID, "STRIPE_KEY", secret, true) // an update writes it again
	var all []byte
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if bytes.Contains(all, []byte(secret)) {
		t.Error("the database files hold the secret in clear")
	}
	if !bytes.Contains(all, []byte(plain)) {
		t.Error("the plain variable is not in the files either: the search proves nothing")
	}
	// Checkpointed into the main file, still nothing.
	if _, err := s.w.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); bytes.Contains(b, []byte(secret)) {
		t.Error("the checkpointed database holds the secret in clear")
	}
}

// Under another key, secrets are reported and left out of runs, never
// dropped: the right key brings them back.
func TestSecretsUnderAnotherKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "picloud.db")
	s := openAt(t, path)
	s.UseSecrets(testKey(t, filepath.Join(dir, "right.key")))
	a := mkApp(t, s, "shop")
	putEnv(t, s, a.ID, "TOKEN", "t", true)
	putEnv(t, s, a.ID, "MODE", "m", false)
	s.Close()

	wrong := openAt(t, path)
	wrong.UseSecrets(testKey(t, filepath.Join(dir, "wrong.key")))
	ctx := context.Background()
	lost, err := wrong.UnreadableSecrets(ctx)
	if err != nil || len(lost) != 1 || lost[0] != (UnreadableSecret{"shop", "TOKEN"}) {
		t.Fatalf("UnreadableSecrets = %+v, %v", lost, err)
	}
	env, _ := wrong.Env(ctx, a.ID)
	if len(env) != 2 || !env[1].Unreadable || env[0].Unreadable {
		t.Errorf("Env = %+v, want TOKEN unreadable", env)
	}
	snap, _ := wrong.Snapshot(ctx)
	if len(snap.Env) != 1 || snap.Env[0].Name != "MODE" {
		t.Errorf("Snapshot.Env = %+v, want only MODE", snap.Env)
	}
	wrong.Close()

	right := openAt(t, path)
	right.UseSecrets(testKey(t, filepath.Join(dir, "right.key")))
	if lost, _ := right.UnreadableSecrets(ctx); len(lost) != 0 {
		t.Errorf("with the right key: %+v unreadable", lost)
	}
}

// A sealed value copied over another entry's row does not open there.
func TestSealedValueIsBoundToItsEntry(t *testing.T) {
	s, _ := openWithKey(t)
	ctx := context.Background()
	a, b := mkApp(t, s, "a"), mkApp(t, s, "b")
	putEnv(t, s, a.ID, "TOKEN", "of-a", true)
	putEnv(t, s, b.ID, "TOKEN", "of-b", true)
	if _, err := s.w.Exec(`UPDATE app_env SET sealed = (SELECT sealed FROM app_env WHERE app_id = ?) WHERE app_id = ?`, a.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	lost, _ := s.UnreadableSecrets(ctx)
	if len(lost) != 1 || lost[0].App != "b" {
		t.Errorf("UnreadableSecrets = %+v, want b's TOKEN", lost)
	}
}
