package bench

import (
	"context"
	"flag"
	"strconv"
	"strings"
	"testing"
	"time"
)

var diskRates = flag.String("disk.rates", "10", "comma-separated request rates of TestDiskWritesPerRequest (0: full load)")

// maxBytesPerRequest is issue 14's target at 10 requests/s: a Pi's SD card
// wears by bytes written.
const maxBytesPerRequest = 2048

// At homelab rates each request must cost little disk: its execution log
// is batched with others' instead of committing whole WAL pages alone.
func TestDiskWritesPerRequest(t *testing.T) {
	bin := buildNode(t)
	for _, f := range strings.Split(*diskRates, ",") {
		rate, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			t.Fatalf("-disk.rates: %v", err)
		}
		d := 10 * time.Second
		if rate > 0 && rate < 10 {
			d = 30 * time.Second
		}
		dw, err := MeasureDiskWrites(context.Background(), bin, t.TempDir(), rate, d)
		if err != nil {
			t.Fatal(err)
		}
		t.Log(dw)
		if rate == 10 && dw.PerRequest() > maxBytesPerRequest {
			t.Errorf("%.0f bytes written per request at 10 req/s, over %d", dw.PerRequest(), maxBytesPerRequest)
		}
	}
}
