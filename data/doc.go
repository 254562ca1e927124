// Package data provides the data that sdekit trains on and evaluates: toy
// distributions with known moments, a small real data set, and n x D tables
// read from and written to CSV and NPY files.
//
// # Sources
//
// A Source draws batches (n x D, row-major) from a distribution using a
// caller's *rand.Rand (math/rand/v2), so a training run is reproducible from
// its seed. ByName gives the built-in ones by name, Open also accepts a file.
//
// gmm8 (GMM8, D = 2): the reference problem of a mixture of 8 equal-weight
// Gaussians,
//
//	p(x) = (1/8) sum_{k=0}^{7} N(x; mu_k, 0.25 I),   mu_k = 4 (cos 2 pi k/8, sin 2 pi k/8),
//
// with mean 0 and covariance (E[mu mu^T] + 0.25 I) = (8 + 0.25) I.
//
// swissroll (SwissRoll, D = 2): theta ~ U[1.5 pi, 4.5 pi] and
//
//	x = Scale (theta cos theta + Noise z1, theta sin theta + Noise z2),  z ~ N(0, I),
//
// scikit-learn's make_swiss_roll (x and z coordinates) with the FFJORD scaling
// Scale = 1/5 and Noise = 1 by default. Standardized picks Scale for unit
// average variance. Mean Scale (2, 2/(3 pi)); covariance in SwissRoll.Cov.
//
// checkerboard (Checkerboard, D = 2): uniform on the 8 dark squares of a 4 x 4
// board on [-4, 4]^2 (squares of side 2; square (i, j) is dark when i + j is
// even, so the corners are dark). Each coordinate is U[-4, 4]; the
// covariance between them is 1.
//
// moons (Moons, D = 2): scikit-learn's two moons with t ~ U[0, pi], each moon
// with probability 1/2: (cos t, sin t) or (1 - cos t, 1/2 - sin t), plus
// N(0, Noise^2 I) (Noise 0.1 by default). Mean (1/2, 1/4).
//
// digits (DigitsSource, D = 64): the 1797 8 x 8 handwritten digits of Alpaydin
// and Kaynak (UCI, CC BY 4.0, doi:10.24432/C50P49, in scikit-learn's copy;
// see DIGITS.md), embedded in the package. Pixels v = 0..16 are scaled to
// [-1, 1] (v/8 - 1, the default), [0, 1] (v/16) or kept raw; with
// Dequantize, v + u, u ~ U[0, 1), divided by 17 (scaled 2(v + u)/17 - 1 or
// (v + u)/17), the uniform dequantisation needed for likelihoods in
// bits/dim. Digits returns the raw pixels and the labels.
//
// The digits have a fixed held-out split: image i (0-based, file order) is
// held out when i mod 5 = 4, 359 images (DigitsTest, "digits-test"); the
// other 1438 are DigitsTrain ("digits-train"). Every digit is in both.
//
// Empirical resamples the rows of a Table uniformly with replacement: the
// source for a data file.
//
// # Labels
//
// A LabeledSource also draws a class label per row (SampleLabeled, the same
// points as Sample with the same generator): gmm8's component k (8
// classes), the digit 0..9 of the digits and their splits, and a file's
// labels. In a CSV file the labels are the column whose header cell is
// "label" (any letter case; integers >= 0), taken out of the data columns;
// a .npy file's labels are in NAME.labels.npy beside NAME.npy, a 1-D array
// of n integers (integral floats also do). A fractional, negative, missing
// or non-numeric label, or a labels file of another length, is a
// *FileError naming the file and where. Table.Labels holds them and
// Classes is 1 + the largest. Labeled says, in one line, when a source has
// none.
//
// Each toy source also reports its exact Mean and Cov, the oracles its
// tests (and downstream tests) compare sample moments with.
//
// # Files
//
// A Table is n x D float64, row-major. Load and Save choose the format by
// extension:
//
// .csv: comma-separated numbers, one row per line. Save writes a header row
// x0,x1,...,x{D-1} and each value as strconv.FormatFloat(v, 'g', 17, 64)
// (%.17g), which reads back bit for bit. ReadCSV skips a first row in which
// no cell is a number (a header), blank lines and '#' comments.
//
// .npy: NumPy's format (https://numpy.org/neps/nep-0001-npy-format.html).
// Save writes version 1.0, dtype '<f8', shape (n, D), C order. Reading goes
// through codeberg.org/sbinet/npyio and also accepts float32 and integer
// dtypes of either byte order, Fortran order, and 1-D arrays as n x 1.
//
// Reading rejects missing, empty and ragged files, non-numeric cells and
// NaN or infinite values with a *FileError naming the file and the line and
// column (CSV, 1-based) or element [row, column] (NPY, 0-based), e.g.
//
//	data: points.csv line 7: 3 values, want 2 (rows must all have the same length)
//	data: points.csv line 4 column 2: NaN; remove or impute non-finite values
//
// Validate checks a table against the dimension of a model; CheckRange
// checks that values lie in the data range declared for a likelihood.
//
// # Writing large outputs
//
// Output files are written atomically: CreateAtomic writes to a temporary
// .NAME.tmp-XXXXXXXX in the destination folder and Commit fsyncs and renames
// it into place (Abort removes it), so a killed run never leaves a partial
// file under the final name. CSVWriter and NPYWriter stream rows block by
// block as a sampler completes them, so a 10^6-row run needs memory for one
// block only; NPYWriter needs n up front because the NPY header carries the
// shape. CreateTable combines the two; Save uses them.
package data
