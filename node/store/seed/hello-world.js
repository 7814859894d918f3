// Seeded on a fresh install so `curl http://localhost:8080/` answers at once.
// Edit or delete it freely: it is never seeded again.
function handle(req) {
  return "Hello, World!";
}
