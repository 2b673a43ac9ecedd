package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// chart is an SVG drawn here and only placed by the template: coordinates
// are computed in Go, so the page needs no script to show it.
type chart struct {
	Title         string
	Width, Height int
	// Plot area.
	Left, Top, Right, Bottom float64
	XTicks, YTicks           []tick
	XLabel, YLabel           string
	Lines                    []line
	Bars                     []bar
	Legend                   []legendItem
}

type tick struct {
	Pos   float64 // x for XTicks, y for YTicks
	Label string
}

type line struct {
	Class, Points string
	Dots          []point
}

type point struct{ X, Y float64 }

type bar struct {
	Class, Label, Value string
	X, Y, W, H          float64
	LabelX, LabelY      float64
	ValueX              float64
}

type legendItem struct {
	Class, Label string
	X, Y         float64
}

// series is one curve of a line chart.
type series struct {
	Name, Class string
	X           []int
	Y           []float64
	Dots        bool
}

// lossChart draws loss against step, one polyline per non-empty series.
func lossChart(ss []series) *chart {
	c := &chart{Title: "Loss by training step", Width: 720, Height: 320, Left: 56, Top: 20, Right: 700, Bottom: 280,
		XLabel: "step", YLabel: "loss"}
	xmax, ymin, ymax := 1.0, math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		for i, x := range s.X {
			xmax = math.Max(xmax, float64(x))
			if y := s.Y[i]; !math.IsNaN(y) && !math.IsInf(y, 0) {
				ymin, ymax = math.Min(ymin, y), math.Max(ymax, y)
			}
		}
	}
	if math.IsInf(ymin, 0) {
		ymin, ymax = 0, 1
	}
	lo, hi, step := niceRange(ymin, ymax, 5)
	xs := func(x float64) float64 { return c.Left + x/xmax*(c.Right-c.Left) }
	ys := func(y float64) float64 { return c.Bottom - (y-lo)/(hi-lo)*(c.Bottom-c.Top) }
	for i := 0; lo+float64(i)*step <= hi+step/2; i++ {
		v := lo + float64(i)*step
		c.YTicks = append(c.YTicks, tick{Pos: round(ys(v)), Label: trimFloat(v)})
	}
	_, _, xstep := niceRange(0, xmax, 6)
	xstep = math.Max(1, math.Round(xstep))
	for v := 0.0; v <= xmax; v += xstep {
		c.XTicks = append(c.XTicks, tick{Pos: round(xs(v)), Label: strconv.Itoa(int(v))})
	}
	lx := c.Left + 12
	for _, s := range ss {
		if len(s.X) == 0 {
			continue
		}
		var pts []string
		l := line{Class: s.Class}
		for i, x := range s.X {
			y := s.Y[i]
			if math.IsNaN(y) || math.IsInf(y, 0) {
				continue
			}
			p := point{round(xs(float64(x))), round(ys(y))}
			pts = append(pts, fmt.Sprintf("%g,%g", p.X, p.Y))
			if s.Dots {
				l.Dots = append(l.Dots, p)
			}
		}
		l.Points = strings.Join(pts, " ")
		c.Lines = append(c.Lines, l)
		c.Legend = append(c.Legend, legendItem{Class: s.Class, Label: fmt.Sprintf("%s (%d points)", s.Name, len(pts)), X: lx, Y: c.Top + 8})
		lx += 170
	}
	return c
}

// barChart draws one horizontal bar per count.
func barChart(title string, cs []count) *chart {
	const rowH = 26.0
	c := &chart{Title: title, Width: 720, Left: 110, Top: 10, Right: 640}
	c.Bottom = c.Top + rowH*float64(len(cs))
	c.Height = int(c.Bottom) + 10
	maxN := 1
	for _, x := range cs {
		maxN = max(maxN, x.N)
	}
	for i, x := range cs {
		y := c.Top + rowH*float64(i)
		w := round(float64(x.N) / float64(maxN) * (c.Right - c.Left))
		c.Bars = append(c.Bars, bar{Class: "sev-" + x.Name, Label: x.Name, Value: strconv.Itoa(x.N),
			X: c.Left, Y: y + 4, W: max(w, 1), H: rowH - 8, LabelX: c.Left - 8, LabelY: y + rowH/2 + 4, ValueX: c.Left + max(w, 1) + 6})
	}
	return c
}

// niceRange widens [lo, hi] to round tick values about n steps apart.
func niceRange(lo, hi float64, n int) (float64, float64, float64) {
	if hi-lo < 1e-9 {
		lo, hi = lo-0.5, hi+0.5
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, f := range []float64{1, 2, 2.5, 5, 10} {
		if f*mag >= raw {
			step = f * mag
			break
		}
	}
	return math.Floor(lo/step) * step, math.Ceil(hi/step) * step, step
}

func trimFloat(v float64) string {
	return strconv.FormatFloat(math.Round(v*1e9)/1e9, 'f', -1, 64)
}

func round(f float64) float64 { return math.Round(f*10) / 10 }
