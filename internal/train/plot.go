package train

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/vulntune/vulntune/internal/atomicfile"
)

// PlotLoss draws the training and validation loss curves of m into a PNG
// at path.
func PlotLoss(m *Metrics, title, path string) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "step"
	p.Y.Label.Text = "loss (assistant tokens)"
	p.Add(plotter.NewGrid())
	for _, s := range []struct {
		kind, label string
		c           color.RGBA
	}{
		{"train", "train", color.RGBA{R: 31, G: 119, B: 180, A: 255}},
		{"eval", "validation", color.RGBA{R: 214, G: 39, B: 40, A: 255}},
	} {
		steps, losses := m.Series(s.kind)
		if len(steps) == 0 {
			continue
		}
		pts := make(plotter.XYs, len(steps))
		for i := range steps {
			pts[i].X, pts[i].Y = float64(steps[i]), losses[i]
		}
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return fmt.Errorf("plot %s loss: %w", s.label, err)
		}
		line.Color, points.Color = s.c, s.c
		points.Radius = vg.Points(2)
		p.Add(line, points)
		p.Legend.Add(s.label, line, points)
	}
	p.Legend.Top = true
	wt, err := p.WriterTo(8*vg.Inch, 4.5*vg.Inch, "png")
	if err != nil {
		return fmt.Errorf("render loss plot: %w", err)
	}
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		_, err := wt.WriteTo(w)
		return err
	})
}
