package clock_test

import (
	"context"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/clock"
)

var start = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

func TestAfterFiresOnlyWhenTheClockPassesIt(t *testing.T) {
	f := clock.NewFake(start)
	ch := f.After(time.Minute)
	f.Advance(59 * time.Second)
	select {
	case <-ch:
		t.Fatal("fired a second early")
	default:
	}
	f.Advance(time.Second)
	select {
	case at := <-ch:
		if !at.Equal(start.Add(time.Minute)) {
			t.Errorf("fired with %s, want start+1m", at)
		}
	default:
		t.Fatal("did not fire at its time")
	}
	if f.Waiters() != 0 {
		t.Errorf("%d waiters left after the timer fired", f.Waiters())
	}
}

func TestATickerTicksEveryIntervalUntilStopped(t *testing.T) {
	f := clock.NewFake(start)
	tk := f.NewTicker(5 * time.Second)
	for i := 1; i <= 3; i++ {
		f.Advance(5 * time.Second)
		select {
		case <-tk.C():
		default:
			t.Fatalf("tick %d missing", i)
		}
	}
	tk.Stop()
	f.Advance(time.Hour)
	select {
	case <-tk.C():
		t.Fatal("ticked after Stop")
	default:
	}
	if !f.Now().Equal(start.Add(time.Hour + 15*time.Second)) {
		t.Errorf("now %s", f.Now())
	}
}

func TestWaitForReturnsOnceSomeoneWaits(t *testing.T) {
	f := clock.NewFake(start)
	go func() {
		time.Sleep(20 * time.Millisecond)
		<-f.After(time.Second)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.WaitFor(ctx, 1); err != nil {
		t.Fatal(err)
	}
	f.Advance(time.Second)
}
