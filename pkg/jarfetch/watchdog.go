package jarfetch

import (
	"io"
	"time"
)

// watchdog calls fire when no progress was reported for timeout (0 disables it). Progress is the
// start (waiting for the response's headers counts as stalled too) and every read that returns
// data.
type watchdog struct {
	timeout time.Duration
	timer   *time.Timer
}

func newWatchdog(timeout time.Duration, fire func()) *watchdog {
	w := &watchdog{timeout: timeout}
	if timeout > 0 {
		w.timer = time.AfterFunc(timeout, fire)
	}
	return w
}

func (w *watchdog) progress() {
	if w.timer != nil {
		w.timer.Reset(w.timeout)
	}
}

func (w *watchdog) stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

// reader reports progress for every read of r that returns data.
func (w *watchdog) reader(r io.Reader) io.Reader { return progressReader{r, w} }

type progressReader struct {
	r io.Reader
	w *watchdog
}

func (p progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.w.progress()
	}
	return n, err
}
