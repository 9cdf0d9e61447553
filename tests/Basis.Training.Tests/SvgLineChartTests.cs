using System.Xml.Linq;
using Basis.Training.Reporting;
using Xunit;

namespace Basis.Training.Tests;

public class SvgLineChartTests
{
    [Fact]
    public void RendersWellFormedSvgWithOneLinePerSeriesAndALegend()
    {
        var chart = new SvgLineChart("Accuracy <held-out>", "step", "accuracy")
            .Add(new ChartSeries("basis", [0, 10, 20], [0.4, 0.5, 0.6], [0.35, 0.45, 0.55], [0.45, 0.55, 0.65]))
            .Add(new ChartSeries("grpo:8", [0, 10, 20], [0.4, 0.55, double.NaN]));

        XDocument svg = XDocument.Parse(chart.Render());
        XNamespace ns = "http://www.w3.org/2000/svg";

        var lines = svg.Descendants(ns + "polyline").ToList();
        Assert.Equal(2, lines.Count);
        Assert.Equal(3, lines[0].Attribute("points")!.Value.Split(' ').Length);
        Assert.Equal(2, lines[1].Attribute("points")!.Value.Split(' ').Length); // NaN skipped
        Assert.Single(svg.Descendants(ns + "polygon"));
        var texts = svg.Descendants(ns + "text").Select(t => t.Value).ToList();
        Assert.Contains("basis", texts);
        Assert.Contains("grpo:8", texts);
        Assert.Contains("Accuracy <held-out>", texts);
    }

    [Fact]
    public void HigherValuesArePlottedHigherAndLogScaleSkipsNonPositive()
    {
        var chart = new SvgLineChart("mse", "checkpoint", "mse", logY: true)
            .Add(new ChartSeries("a", [0, 1, 2], [1e-3, 1e-1, 0]));

        XDocument svg = XDocument.Parse(chart.Render());
        string[] points = svg.Descendants("{http://www.w3.org/2000/svg}polyline").Single().Attribute("points")!.Value.Split(' ');

        Assert.Equal(2, points.Length);
        double y0 = double.Parse(points[0].Split(',')[1], System.Globalization.CultureInfo.InvariantCulture);
        double y1 = double.Parse(points[1].Split(',')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(y1 < y0, "a larger value must sit higher (smaller SVG y)");
    }

    [Fact]
    public void RefusesSeriesOfUnequalLength()
    {
        var chart = new SvgLineChart("t", "x", "y");
        Assert.Throws<ArgumentException>(() => chart.Add(new ChartSeries("bad", [1, 2], [1])));
    }
}
