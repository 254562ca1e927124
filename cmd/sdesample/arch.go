package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/latent"
	"github.com/sdekit/sdekit/model"
)

// archFlags are train's flags for the network architecture beyond the
// MLP's -hidden: -arch picks the network, the rest size the U-Net. The
// time-embedding, precision and seed flags serve both.
type archFlags struct {
	arch, image, mult, attention *string
	channels, numRes, groups     *int
	tembDim, workers             *int
	dropout                      *float64
}

// unetFlags are the flags that only the U-Net reads.
var unetFlags = []string{"image", "channels", "mult", "num-res", "groups", "attention", "dropout", "temb-dim"}

func addArchFlags(fs *flag.FlagSet) *archFlags {
	return &archFlags{
		arch:      fs.String("arch", "mlp", "network: mlp (sized by -hidden) or unet (a convolutional U-Net on images: -image, -channels, -mult, -num-res, -groups, -attention, -dropout)"),
		image:     fs.String("image", "", "unet: shape CxHxW of the image in each data row, channel-major (default: the data set's own shape)"),
		channels:  fs.Int("channels", model.DefaultUNetBase, "unet: channels at the first resolution"),
		mult:      fs.String("mult", "1,2,2", "unet: channel multiplier per resolution, comma-separated; each resolution but the last halves the image"),
		numRes:    fs.Int("num-res", model.DefaultUNetNumRes, "unet: residual blocks per resolution"),
		groups:    fs.Int("groups", model.DefaultUNetGroups, "unet: GroupNorm groups; must divide -channels times each multiplier"),
		attention: fs.String("attention", model.AttentionMid, "unet: self-attention at the lowest resolution: mid or none"),
		dropout:   fs.Float64("dropout", 0, "unet: dropout probability in the residual blocks, training only"),
		tembDim:   fs.Int("temb-dim", 0, "unet: width of the time-embedding MLP (0: 4 x -channels)"),
		workers:   fs.Int("workers", 1, "goroutines for the network's products (0: one per core); results do not depend on it"),
	}
}

// imageShaper is a data source that knows the image shape of its rows.
type imageShaper interface {
	ImageShape() (c, h, w int)
}

// newNet builds the network the flags describe for rows of src. mc is the
// MLP config that train built (data dimension, time embedding, precision,
// seed); resumed is the checkpoint of -resume or nil.
func (a *archFlags) newNet(fs *flag.FlagSet, mc model.Config, src data.Source, dataSpec string, resumed *model.Checkpoint) (model.Trainable, error) {
	net, err := a.build(fs, mc, src, dataSpec, resumed)
	if err != nil {
		return nil, err
	}
	nw, err := resolveWorkers(*a.workers)
	if err != nil {
		return nil, err
	}
	net.SetWorkers(nw)
	return net, nil
}

func (a *archFlags) build(fs *flag.FlagSet, mc model.Config, src data.Source, dataSpec string, resumed *model.Checkpoint) (model.Trainable, error) {
	switch *a.arch {
	case "mlp":
		for _, name := range unetFlags {
			if flagChanged(fs, name) {
				return nil, usagef("-%s sizes the U-Net; add -arch unet, or leave it out for the MLP", name)
			}
		}
		net, err := model.NewTrainable(mc)
		if err != nil {
			return nil, usagef("%s", inFlags(err))
		}
		return net, nil
	case "unet":
	default:
		return nil, usagef("-arch %q: use mlp or unet", *a.arch)
	}
	if flagChanged(fs, "hidden") {
		return nil, usagef("-hidden sizes the MLP; the U-Net's size is -channels, -mult and -num-res")
	}
	if mc.Classes > 0 {
		return nil, usagef("-conditional: the U-Net has no class input yet; train a conditional MLP (leave out -arch unet)")
	}
	c, h, w, err := a.shape(src, dataSpec)
	if err != nil {
		return nil, err
	}
	mult, err := parseMult(*a.mult)
	if err != nil {
		return nil, err
	}
	if _, ok := src.(latent.ImageSource); ok {
		if err := latentMult(mult, *a.mult, c, h, w); err != nil {
			return nil, err
		}
	}
	switch {
	case *a.channels < 1:
		return nil, usagef("-channels %d: use at least 1 (default %d)", *a.channels, model.DefaultUNetBase)
	case *a.numRes < 1:
		return nil, usagef("-num-res %d: use at least 1 residual block per resolution", *a.numRes)
	case *a.groups < 1:
		return nil, usagef("-groups %d: use at least 1 GroupNorm group", *a.groups)
	case *a.tembDim < 0:
		return nil, usagef("-temb-dim %d: use 0 (4 x -channels) or a positive width", *a.tembDim)
	}
	uc := model.UNetConfig{Channels: c, Height: h, Width: w, Base: *a.channels, Mult: mult, NumRes: *a.numRes,
		Groups: *a.groups, Attention: *a.attention, Dropout: *a.dropout, TembDim: *a.tembDim,
		Embedding: mc.Embedding, EmbedDim: mc.EmbedDim, FourierScale: mc.FourierScale, TimeScale: mc.TimeScale,
		Precision: mc.Precision, Seed: mc.Seed}
	if resumed != nil && resumed.Kind == model.KindUNet {
		// No flag sets the time scale: keep the checkpoint's.
		rc, err := model.ParseUNetConfig(resumed.Config)
		if err != nil {
			return nil, fmt.Errorf("-resume: %s", strings.TrimPrefix(err.Error(), "model: "))
		}
		uc.TimeScale = rc.TimeScale
	}
	net, err := model.NewUNet(uc)
	if err != nil {
		return nil, usagef("%s", unetInFlags(err))
	}
	return net, nil
}

// shape returns the image shape of -image, or else the data's own; either
// must have as many values as a data row.
func (a *archFlags) shape(src data.Source, dataSpec string) (c, h, w int, err error) {
	return dataImageShape(src, dataSpec, *a.image, "-arch unet")
}

// dataImageShape returns the image shape given as CxHxW in image, or else
// the one src declares; either must have as many values as a row of src.
// who names what needs the shape, for the error when there is none.
func dataImageShape(src data.Source, dataSpec, image, who string) (c, h, w int, err error) {
	d := src.Dim()
	if image == "" {
		s, ok := src.(imageShaper)
		if !ok {
			return 0, 0, 0, usagef("%s: -data %s does not say its image shape; give it with -image CxHxW (C*H*W = %d, for example 1x%dx%d for square grey images)", who, dataSpec, d, isqrt(d), isqrt(d))
		}
		c, h, w = s.ImageShape()
	} else {
		f := strings.Split(strings.ToLower(image), "x")
		var v [3]int
		if len(f) != 3 {
			return 0, 0, 0, usagef("-image %q: want CxHxW, for example 1x28x28", image)
		}
		for i, s := range f {
			if v[i], err = strconv.Atoi(strings.TrimSpace(s)); err != nil || v[i] < 1 || v[i] > 1<<16 {
				return 0, 0, 0, usagef("-image %q: want CxHxW with positive integers, for example 1x28x28", image)
			}
		}
		c, h, w = v[0], v[1], v[2]
	}
	if c*h*w != d {
		return 0, 0, 0, usagef("-image %dx%dx%d has %d values per image, but the rows of -data %s have %d; give the data's image shape", c, h, w, c*h*w, dataSpec, d)
	}
	return c, h, w, nil
}

// isqrt is the integer square root, for the hint in shape's message.
func isqrt(d int) int {
	r := 0
	for (r+1)*(r+1) <= d {
		r++
	}
	return r
}

// parseMult reads "1,2,2".
func parseMult(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		m, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || m < 1 || m > 64 {
			return nil, usagef("-mult %q: want comma-separated channel multipliers from 1 to 64 (for example 1,2,2)", s)
		}
		out = append(out, m)
	}
	return out, nil
}

// unetInFlags rewrites a U-Net config error's field names as flags.
func unetInFlags(err error) string {
	msg := strings.TrimPrefix(err.Error(), "model: unet config: ")
	for _, f := range []struct{ field, flag string }{
		{"choose Groups", "choose -groups"}, {"Base = ", "-channels "}, {"Base ", "-channels "}, {"Mult", "-mult"}, {"NumRes = ", "-num-res "},
		{"Groups = ", "-groups "}, {"Attention = ", "-attention "}, {"Dropout = ", "-dropout "},
		{"TembDim = ", "-temb-dim "}, {"EmbedDim = ", "-embed-dim "}, {"FourierScale = ", "-fourier-scale "},
		{"Embedding = ", "-embedding "}, {"Precision = ", "-precision "},
	} {
		msg = strings.ReplaceAll(msg, f.field, f.flag)
	}
	return msg
}

// fillUNetFlags sets vals (flag name -> value) from a U-Net checkpoint's
// config, for -resume.
func fillUNetFlags(config []byte, vals map[string]string) error {
	uc, err := model.ParseUNetConfig(config)
	if err != nil {
		return err
	}
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	ms := make([]string, len(uc.Mult))
	for i, m := range uc.Mult {
		ms[i] = strconv.Itoa(m)
	}
	vals["arch"] = "unet"
	vals["image"] = fmt.Sprintf("%dx%dx%d", uc.Channels, uc.Height, uc.Width)
	vals["channels"], vals["mult"], vals["num-res"] = strconv.Itoa(uc.Base), strings.Join(ms, ","), strconv.Itoa(uc.NumRes)
	vals["groups"], vals["attention"], vals["dropout"] = strconv.Itoa(uc.Groups), uc.Attention, g(uc.Dropout)
	vals["temb-dim"] = strconv.Itoa(uc.TembDim)
	vals["embedding"], vals["embed-dim"], vals["precision"] = uc.Embedding, strconv.Itoa(uc.EmbedDim), uc.Precision
	if uc.Embedding == model.EmbeddingFourier {
		vals["fourier-scale"] = g(uc.FourierScale)
	}
	return nil
}

// archSummary names the network for train's closing line.
func (a *archFlags) archSummary(hidden string) string {
	if *a.arch != "unet" {
		return "hidden " + hidden
	}
	return fmt.Sprintf("unet channels %d mult %s num-res %d groups %d attention %s", *a.channels, *a.mult, *a.numRes, *a.groups, *a.attention)
}

// setUnsetFlags sets each flag in vals that the command line left unset.
func setUnsetFlags(fs *flag.FlagSet, vals map[string]string) error {
	for name, v := range vals {
		if !trainFlagSet(fs, name) {
			if err := fs.Set(name, v); err != nil {
				return fmt.Errorf("recorded %s %q: %v", name, v, err)
			}
		}
	}
	return nil
}

// flagChanged reports whether a flag's value differs from its default (a
// replayed record sets every flag, most to their defaults).
func flagChanged(fs *flag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	return f != nil && f.Value.String() != f.DefValue
}
