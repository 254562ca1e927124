// Package viz draws the pictures of sdekit with gonum/plot: samples against
// the exact density, per-coordinate histograms against exact marginals,
// sample paths over time, ODE step sizes, and histograms of evaluation counts
// and bits/dim.
//
// The API is plain functions and one type, Figure, so that notebooks
// (gophernotes) can call it: the builders return a *plot.Plot (one panel) or
// a *Figure (a grid of panels), and a Figure renders to an image.Image, PNG
// bytes or SVG bytes, or saves itself to a .png or .svg file atomically.
// Free-form panels (package nb's pictures) start from NewPanel and take
// series by colour index (AddLine, AddPoints, AddCloud, AddHist, AddHeat),
// log axes with 1-2-5 ticks (LogX, LogY) and Render to an image.
//
// Image-shaped samples (C x H x W per row, C = 1 or 3) are drawn by
// ImageGrid as a grid of pictures, a value v in [Lo, Hi] becoming grey level
// round(255 (v - Lo)/(Hi - Lo)), NaN red; SaveImage writes it as PNG.
//
// Sizes are in pixels at 96 per inch: a Figure of Width x Height pixels is a
// PNG of exactly that many pixels and an SVG of 0.75 Width x 0.75 Height
// points (the same size on a screen).
//
// Contours in Scatter2D are of the log-density: levels evenly spaced from the
// highest value on the grid down to 9 nats below it, so the outermost contour
// encloses the region where the density is above e^-9 of its peak.
package viz
