package store

import (
	"context"
	"testing"

	"github.com/dop251/goja"

	"github.com/picloud/picloud/shared"
)

// The seeded script really answers "Hello, World!": run its handle() in goja,
// the engine the executor uses (a returned string is the 200 body, SPEC §5).
func TestSeedScriptAnswersHelloWorld(t *testing.T) {
	s, _ := openTest(t)
	def, err := s.App(context.Background(), shared.DefaultAppSlug)
	if err != nil {
		t.Fatal(err)
	}
	scripts, err := s.Scripts(context.Background(), def.ID)
	if err != nil || len(scripts) != 1 {
		t.Fatalf("Scripts = %v, %v", scripts, err)
	}
	vm := goja.New()
	if _, err := vm.RunScript(seedScriptName+".js", scripts[0].Source); err != nil {
		t.Fatalf("seed does not run: %v", err)
	}
	handle, ok := goja.AssertFunction(vm.Get("handle"))
	if !ok {
		t.Fatal("seed has no handle function")
	}
	req := vm.NewObject()
	req.Set("method", "GET")
	req.Set("path", "/")
	v, err := handle(goja.Undefined(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := v.Export().(string); !ok || got != "Hello, World!" {
		t.Fatalf("handle() = %#v, want the string \"Hello, World!\"", v.Export())
	}
}
