package createrepo

import (
	"sync"
)

// schedule decides which package a worker reads next, and hands the
// packages to the collector in task order.
//
// Workers pull from it (claim) rather than being fed by a goroutine of
// its own: a worker hashing on every CPU would starve such a feeder, and
// a worker left without a second package hashes at half speed (see
// lanes.go). Two things bound what is in flight:
//
//   - a window of tasks from the first one not yet collected (the
//     items' bookkeeping);
//   - the bytes of XML rendered and not yet collected. The window must
//     let the workers run far ahead of a large package that holds up
//     the collector (hundreds of small packages while one of 50 MB is
//     hashed), but what those packages rendered waits in memory.
//
// Large packages within lookahead tasks of the window's front are
// started early, out of order, so that they are hashed alongside the
// small packages before them instead of holding up the collector when
// their turn comes.
//
// All methods are safe for concurrent use.
type schedule struct {
	mu   sync.Mutex
	cond sync.Cond // broadcast on every change

	tasks []task
	ring  []*item // the item of task i at i%len(ring), from its start to its collection

	next  int // the first task not started in order
	head  int // the first task not collected
	ahead int // tasks below it were considered for an early start

	held  int // bytes of XML rendered and not collected
	limit int

	lookahead int
	large     int64 // bytes from which a package is started early
	early     int   // items started early and not collected
	maxEarly  int

	stopped bool
}

func newSchedule(tasks []task, window, xmlLimit, lookahead int, large int64, maxEarly int) *schedule {
	s := &schedule{
		tasks:     tasks,
		ring:      make([]*item, window),
		limit:     xmlLimit,
		lookahead: min(lookahead, window-1),
		large:     large,
		maxEarly:  maxEarly,
	}
	s.cond.L = &s.mu
	return s
}

// claim returns the next package for a worker to read. If none may
// start now, it waits for one when wait is true, and returns nil at
// once otherwise; busy tells the caller that one could start once the
// collector catches up (worth yielding the CPU to it). It returns nil
// for good once every task is started, or the schedule is stopped.
func (s *schedule) claim(wait bool) (it *item, busy bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for !s.stopped {
		// Skip what was started early: collected already, or waiting.
		s.next = max(s.next, s.head)
		if it := s.startEarly(); it != nil {
			return it, false
		}
		for s.next < len(s.tasks) && s.next < s.head+len(s.ring) && s.ring[s.next%len(s.ring)] != nil {
			s.next++
		}
		if s.next >= len(s.tasks) {
			return nil, false
		}
		// The collector waits for this one whatever the bytes held.
		if s.next < s.head+len(s.ring) && (s.held <= s.limit || s.next == s.head) {
			it := s.start(s.next)
			s.next++
			return it, false
		}
		if !wait {
			return nil, true
		}
		s.cond.Wait()
	}
	return nil, false
}

// startEarly starts the next large package within reach, if any.
func (s *schedule) startEarly() *item {
	if s.large <= 0 {
		return nil
	}
	s.ahead = max(s.ahead, s.next+1)
	for s.ahead < len(s.tasks) && s.ahead <= s.next+s.lookahead && s.ahead < s.head+len(s.ring) {
		i := s.ahead
		if s.tasks[i].size >= s.large && s.ring[i%len(s.ring)] == nil {
			if s.early >= s.maxEarly {
				return nil // considered again when one is collected
			}
			s.ahead++
			s.early++
			it := s.start(i)
			it.early = true
			return it
		}
		s.ahead++
	}
	return nil
}

func (s *schedule) start(i int) *item {
	// The item has its own copy of the task; dropping the list's lets
	// the names of the packages done go (50,000 of them are 4 MB).
	it := &item{t: s.tasks[i], done: make(chan struct{})}
	s.tasks[i] = task{}
	s.ring[i%len(s.ring)] = it
	s.cond.Broadcast() // the collector may wait for it
	return it
}

// rendered counts the bytes of XML an item holds until it is collected.
// Those of packages started early are not counted: there are at most
// maxEarly of them, and counting them would stop the packages before
// them, which the collector needs first.
func (s *schedule) rendered(it *item) {
	if it.early {
		return
	}
	s.mu.Lock()
	s.held += it.xmlSize
	s.mu.Unlock()
}

// waitItem returns task i's item once it is started; nil if the
// schedule is stopped first. The collector calls it for i = 0, 1, ...
func (s *schedule) waitItem(i int) *item {
	s.mu.Lock()
	defer s.mu.Unlock()
	for !s.stopped {
		if it := s.ring[i%len(s.ring)]; it != nil {
			return it
		}
		s.cond.Wait()
	}
	return nil
}

// collected frees the item at the window's front.
func (s *schedule) collected(it *item) {
	s.mu.Lock()
	s.ring[s.head%len(s.ring)] = nil
	s.head++
	if it.early {
		s.early--
	} else {
		s.held -= it.xmlSize
	}
	s.cond.Broadcast()
	s.mu.Unlock()
}

// stop wakes every waiter for good.
func (s *schedule) stop() {
	s.mu.Lock()
	s.stopped = true
	s.cond.Broadcast()
	s.mu.Unlock()
}
