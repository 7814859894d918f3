package bench

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramBucketsAreContiguous(t *testing.T) {
	for i := 1; i < histBuckets-1; i++ {
		if histLow(i) <= histLow(i-1) {
			t.Fatalf("bucket %d starts at %d, not after bucket %d at %d", i, histLow(i), i-1, histLow(i-1))
		}
		if got := histIndex(histLow(i)); got != i {
			t.Fatalf("histIndex(histLow(%d)=%d) = %d", i, histLow(i), got)
		}
		if got := histIndex(histLow(i+1) - 1); got != i {
			t.Fatalf("histIndex(%d) = %d, want %d (last value of the bucket)", histLow(i+1)-1, got, i)
		}
	}
	if got := histIndex(1<<63 - 1); got >= histBuckets {
		t.Fatalf("largest duration lands in bucket %d of %d", got, histBuckets)
	}
}

// Quantiles must agree with the exact ones from sorted samples within the
// bucket precision, or the p99 column of the report would be wrong.
func TestHistogramQuantilesMatchSortedSamples(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	var all []time.Duration
	for range 100000 {
		// Log-normal-ish latencies between ~10 µs and ~100 ms.
		d := time.Duration(float64(10*time.Microsecond) * (1 + r.ExpFloat64()*r.ExpFloat64()*50))
		h.Record(d)
		all = append(all, d)
	}
	slices.Sort(all)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		want := all[int(q*float64(len(all)))-1]
		got := h.Quantile(q)
		if diff := float64(got-want) / float64(want); diff > 0.02 || diff < -0.02 {
			t.Errorf("q%v = %v, exact %v (off by %.1f%%)", q, got, want, diff*100)
		}
	}
	if h.Max() != all[len(all)-1] {
		t.Errorf("max = %v, want %v", h.Max(), all[len(all)-1])
	}
}

func TestHistogramMergeEqualsOneHistogram(t *testing.T) {
	var a, b, both Histogram
	for i := range 1000 {
		d := time.Duration(i*i) * time.Microsecond
		both.Record(d)
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(&b)
	for _, q := range []float64{0.5, 0.99} {
		if a.Quantile(q) != both.Quantile(q) {
			t.Errorf("merged q%v = %v, single histogram %v", q, a.Quantile(q), both.Quantile(q))
		}
	}
	if a.Count() != 1000 || a.Mean() != both.Mean() {
		t.Errorf("merged count %d mean %v, want 1000 and %v", a.Count(), a.Mean(), both.Mean())
	}
}

func TestHistogramEmpty(t *testing.T) {
	var h Histogram
	if h.Quantile(0.99) != 0 || h.Mean() != 0 {
		t.Fatalf("empty histogram: q99 %v mean %v, want 0", h.Quantile(0.99), h.Mean())
	}
}
