package createrepo

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// Under any mix of sizes, workers and completion order, the schedule
// starts every task exactly once and hands them to the collector in
// order, keeps within its window, and does not deadlock.
func TestScheduleStartsEachTaskOnce(t *testing.T) {
	cases := []struct {
		n, window, xml, lookahead, maxEarly, workers, lanes int
		large                                               int64
	}{
		{n: 1, window: 4, xml: 0, lookahead: 2, maxEarly: 1, workers: 1, lanes: 1, large: 10},
		{n: 200, window: 4, xml: 0, lookahead: 3, maxEarly: 1, workers: 2, lanes: 2, large: 10},
		{n: 500, window: 16, xml: 100, lookahead: 15, maxEarly: 4, workers: 3, lanes: 2, large: 5},
		{n: 500, window: 64, xml: 1 << 20, lookahead: 1000, maxEarly: 8, workers: 2, lanes: 4, large: 1},
		{n: 500, window: 32, xml: 50, lookahead: 0, maxEarly: 0, workers: 4, lanes: 1, large: 0},
	}
	for ci, c := range cases {
		t.Run(fmt.Sprint(ci), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(ci), 7))
			tasks := make([]task, c.n)
			for i := range tasks {
				tasks[i] = task{base: fmt.Sprint(i), size: int64(rng.IntN(12))}
			}
			s := newSchedule(tasks, c.window, c.xml, c.lookahead, c.large, c.maxEarly)
			var mu sync.Mutex
			started := map[string]int{}
			var wg sync.WaitGroup
			for w := 0; w < c.workers; w++ {
				seed := rng.Uint64()
				wg.Go(func() {
					r := rand.New(rand.NewPCG(seed, 1))
					var held []*item
					for {
						for len(held) < c.lanes {
							it, _ := s.claim(len(held) == 0)
							if it == nil {
								break
							}
							mu.Lock()
							started[it.t.base]++
							mu.Unlock()
							held = append(held, it)
						}
						if len(held) == 0 {
							return
						}
						// Finish some of the held items, any of them,
						// sometimes letting the collector run before
						// claiming more.
						for m := 1 + r.IntN(len(held)); m > 0; m-- {
							k := r.IntN(len(held))
							it := held[k]
							held = append(held[:k], held[k+1:]...)
							it.xmlSize = r.IntN(40)
							s.rendered(it)
							close(it.done)
						}
						if r.IntN(4) == 0 {
							time.Sleep(time.Duration(r.IntN(50)) * time.Microsecond)
						}
					}
				})
			}
			errc := make(chan error, 1)
			go func() {
				for i := 0; i < c.n; i++ {
					it := s.waitItem(i)
					<-it.done
					if it.t.base != fmt.Sprint(i) {
						errc <- fmt.Errorf("collector got %q at %d", it.t.base, i)
						s.stop()
						return
					}
					s.mu.Lock()
					inFlight := 0
					for _, x := range s.ring {
						if x != nil {
							inFlight++
						}
					}
					s.mu.Unlock()
					if inFlight > c.window {
						errc <- fmt.Errorf("%d items in flight, window %d", inFlight, c.window)
					}
					s.collected(it)
				}
				errc <- nil
			}()
			select {
			case err := <-errc:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(20 * time.Second):
				s.stop()
				t.Fatal("deadlock")
			}
			wg.Wait()
			if len(started) != c.n {
				t.Errorf("%d tasks started, want %d", len(started), c.n)
			}
			for name, k := range started {
				if k != 1 {
					t.Errorf("task %s started %d times", name, k)
				}
			}
			if s.held != 0 || s.early != 0 {
				t.Errorf("after the run: %d bytes held, %d early items", s.held, s.early)
			}
		})
	}
}
