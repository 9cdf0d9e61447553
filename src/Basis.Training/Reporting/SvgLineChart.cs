using System.Globalization;
using System.Net;
using System.Text;

namespace Basis.Training.Reporting;

/// <summary>One named line of a chart, with an optional band (for example a 95% interval).</summary>
public sealed record ChartSeries(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y, IReadOnlyList<double>? Low = null, IReadOnlyList<double>? High = null);

/// <summary>
/// A dependency-free SVG line chart: axes with ticks, one coloured line per series, optional
/// shaded bands, a legend. Enough for learning curves and benchmark plots a browser opens directly.
/// </summary>
public sealed class SvgLineChart
{
    private static readonly string[] s_palette =
    [
        "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    ];

    private const int Width = 760;
    private const int Height = 440;
    private const int Left = 70;
    private const int Right = 190;
    private const int Top = 40;
    private const int Bottom = 55;

    private readonly List<ChartSeries> _series = new();

    public SvgLineChart(string title, string xLabel, string yLabel, bool logY = false)
    {
        Title = title;
        XLabel = xLabel;
        YLabel = yLabel;
        LogY = logY;
    }

    public string Title { get; }

    public string XLabel { get; }

    public string YLabel { get; }

    public bool LogY { get; }

    public SvgLineChart Add(ChartSeries series)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (series.X.Count != series.Y.Count)
        {
            throw new ArgumentException($"series '{series.Name}' has {series.X.Count} x values and {series.Y.Count} y values.", nameof(series));
        }

        _series.Add(series);
        return this;
    }

    public string Render()
    {
        var points = _series.SelectMany(s => s.X.Zip(s.Y)).Where(p => double.IsFinite(p.First) && IsPlottable(p.Second)).ToList();
        var bandValues = _series.SelectMany(s => (s.Low ?? []).Concat(s.High ?? [])).Where(IsPlottable);
        double xMin = points.Count == 0 ? 0 : points.Min(p => p.First);
        double xMax = points.Count == 0 ? 1 : points.Max(p => p.First);
        var ys = points.Select(p => Transform(p.Second)).Concat(bandValues.Select(Transform)).ToList();
        double yMin = ys.Count == 0 ? 0 : ys.Min();
        double yMax = ys.Count == 0 ? 1 : ys.Max();
        if (xMax <= xMin)
        {
            xMax = xMin + 1;
        }

        if (yMax <= yMin)
        {
            yMax = yMin + 1;
        }

        double pad = (yMax - yMin) * 0.05;
        yMin -= pad;
        yMax += pad;

        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Width / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{Escape(Title)}</text>\n");

        double plotWidth = Width - Left - Right;
        double plotHeight = Height - Top - Bottom;
        double X(double x) => Left + ((x - xMin) / (xMax - xMin) * plotWidth);
        double Y(double y) => Top + plotHeight - ((Transform(y) - yMin) / (yMax - yMin) * plotHeight);

        // Grid and ticks.
        foreach (double tick in Ticks(xMin, xMax))
        {
            double px = X(tick);
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{px:F1}\" y1=\"{Top}\" x2=\"{px:F1}\" y2=\"{Top + plotHeight}\" stroke=\"#eee\"/>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{px:F1}\" y=\"{Top + plotHeight + 16}\" text-anchor=\"middle\">{Format(tick)}</text>\n");
        }

        foreach (double tick in Ticks(yMin, yMax))
        {
            double value = LogY ? Math.Pow(10, tick) : tick;
            double py = Top + plotHeight - ((tick - yMin) / (yMax - yMin) * plotHeight);
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{py:F1}\" x2=\"{Left + plotWidth}\" y2=\"{py:F1}\" stroke=\"#eee\"/>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 6}\" y=\"{py + 4:F1}\" text-anchor=\"end\">{Format(value)}</text>\n");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{Left}\" y=\"{Top}\" width=\"{plotWidth}\" height=\"{plotHeight}\" fill=\"none\" stroke=\"#333\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + (plotWidth / 2)}\" y=\"{Height - 14}\" text-anchor=\"middle\">{Escape(XLabel)}</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text transform=\"translate(18,{Top + (plotHeight / 2)}) rotate(-90)\" text-anchor=\"middle\">{Escape(YLabel + (LogY ? " (log scale)" : string.Empty))}</text>\n");

        for (int i = 0; i < _series.Count; i++)
        {
            ChartSeries series = _series[i];
            string colour = s_palette[i % s_palette.Length];
            if (series.Low is not null && series.High is not null)
            {
                var upper = new List<string>();
                var lower = new List<string>();
                for (int k = 0; k < series.X.Count; k++)
                {
                    if (IsPlottable(series.Low[k]) && IsPlottable(series.High[k]))
                    {
                        upper.Add(Point(X(series.X[k]), Y(series.High[k])));
                        lower.Insert(0, Point(X(series.X[k]), Y(series.Low[k])));
                    }
                }

                if (upper.Count > 0)
                {
                    svg.Append(CultureInfo.InvariantCulture, $"<polygon points=\"{string.Join(' ', upper.Concat(lower))}\" fill=\"{colour}\" fill-opacity=\"0.15\" stroke=\"none\"/>\n");
                }
            }

            var line = new List<string>();
            for (int k = 0; k < series.X.Count; k++)
            {
                if (double.IsFinite(series.X[k]) && IsPlottable(series.Y[k]))
                {
                    line.Add(Point(X(series.X[k]), Y(series.Y[k])));
                }
            }

            svg.Append(CultureInfo.InvariantCulture, $"<polyline points=\"{string.Join(' ', line)}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>\n");
            if (line.Count <= 40)
            {
                foreach (string point in line)
                {
                    string[] xy = point.Split(',');
                    svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{xy[0]}\" cy=\"{xy[1]}\" r=\"3\" fill=\"{colour}\"/>\n");
                }
            }

            double legendY = Top + 10 + (i * 20);
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Width - Right + 12}\" y1=\"{legendY}\" x2=\"{Width - Right + 36}\" y2=\"{legendY}\" stroke=\"{colour}\" stroke-width=\"3\"/>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Width - Right + 42}\" y=\"{legendY + 4}\">{Escape(series.Name)}</text>\n");
        }

        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private bool IsPlottable(double y) => double.IsFinite(y) && (!LogY || y > 0);

    private double Transform(double y) => LogY ? Math.Log10(y) : y;

    private static string Point(double x, double y) => string.Create(CultureInfo.InvariantCulture, $"{x:F1},{y:F1}");

    private static string Escape(string text) => WebUtility.HtmlEncode(text);

    private static string Format(double value)
    {
        double magnitude = Math.Abs(value);
        if (magnitude != 0 && (magnitude < 1e-3 || magnitude >= 1e5))
        {
            return value.ToString("0.#E+0", CultureInfo.InvariantCulture);
        }

        return value.ToString("0.###", CultureInfo.InvariantCulture);
    }

    // "Nice" ticks: steps of 1, 2 or 5 times a power of ten, about six of them.
    private static IEnumerable<double> Ticks(double min, double max)
    {
        double raw = (max - min) / 6;
        double power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double mantissa = raw / power;
        double step = power * mantissa switch
        {
            < 1.5 => 1,
            < 3.5 => 2,
            < 7.5 => 5,
            _ => 10,
        };
        for (double tick = Math.Ceiling(min / step) * step; tick <= max + (step * 1e-9); tick += step)
        {
            yield return Math.Abs(tick) < step * 1e-9 ? 0 : tick;
        }
    }
}
