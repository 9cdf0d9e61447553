using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using Basis.Tasks.Verification;

namespace Basis.Tasks.Bench;

/// <summary>
/// Verification throughput on one thread. Each invocation verifies <see cref="Count"/> completions, so the
/// reported time per operation is the time per completion; completions per second = 1e9 / (ns per op).
/// </summary>
[MemoryDiagnoser]
public class VerifierBenchmarks
{
    private const int Count = 1024;

    private readonly IVerifier _gsm8k = new Gsm8kVerifier();
    private readonly IVerifier _gsm8kLastNumber = new Gsm8kVerifier(lastNumberFallback: true);
    private readonly IVerifier _boxed = new BoxedMathVerifier();
    private readonly IVerifier _exact = new ExactNumericVerifier();

    private (string Completion, string Gold)[] _gsm8kItems = [];
    private (string Completion, string Gold)[] _boxedItems = [];
    private (string Completion, string Gold)[] _exactItems = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        _gsm8kItems = Enumerable.Range(0, Count).Select(_ => ReasoningCompletion(random)).ToArray();
        Console.WriteLine(
            $"// GSM8K-style completions: {Count}, length min {_gsm8kItems.Min(i => i.Completion.Length)}, "
            + $"mean {_gsm8kItems.Average(i => i.Completion.Length):F0}, max {_gsm8kItems.Max(i => i.Completion.Length)} chars");
        _boxedItems = _gsm8kItems
            .Select((item, i) => (item.Completion[..item.Completion.LastIndexOf('\n')] + $"\nSo the answer is $\\boxed{{\\frac{{{item.Gold}}}{{{i % 7 + 1}}}}}$.", (double.Parse(item.Gold, CultureInfo.InvariantCulture) / (i % 7 + 1)).ToString("R", CultureInfo.InvariantCulture)))
            .ToArray();
        _exactItems = Enumerable.Range(0, Count).Select(_ => { int a = random.Next(1000); int b = random.Next(1000); return ((a + b).ToString(CultureInfo.InvariantCulture), (a + b).ToString(CultureInfo.InvariantCulture)); }).ToArray();
    }

    [Benchmark(OperationsPerInvoke = Count, Baseline = true)]
    public double Gsm8k() => Run(_gsm8k, _gsm8kItems);

    [Benchmark(OperationsPerInvoke = Count)]
    public double Gsm8kLastNumber() => Run(_gsm8kLastNumber, _gsm8kItems);

    [Benchmark(OperationsPerInvoke = Count)]
    public double Boxed() => Run(_boxed, _boxedItems);

    [Benchmark(OperationsPerInvoke = Count)]
    public double Exact() => Run(_exact, _exactItems);

    private static double Run(IVerifier verifier, (string Completion, string Gold)[] items)
    {
        double total = 0;
        foreach ((string completion, string gold) in items)
        {
            total += verifier.Verify(completion, gold).Reward;
        }

        return total;
    }

    // A GSM8K-like worked solution: 3-6 arithmetic steps in prose, ~200-400 characters, then a final-answer
    // line; 20% use "The answer is N." instead of "#### N" and 10% state a wrong answer.
    private static (string Completion, string Gold) ReasoningCompletion(Random random)
    {
        string[] items = ["apples", "eggs", "books", "tickets", "marbles", "cupcakes"];
        string[] people = ["Janet", "Tom", "Maria", "Ahmed", "Li", "Sofia"];
        var text = new StringBuilder();
        long value = random.Next(10, 500);
        string item = items[random.Next(items.Length)];
        text.Append(CultureInfo.InvariantCulture, $"{people[random.Next(people.Length)]} starts with {value} {item}. ");
        int steps = random.Next(3, 7);
        for (int s = 0; s < steps; s++)
        {
            int operand = random.Next(2, 60);
            long next;
            string verb;
            switch (random.Next(3))
            {
                case 0:
                    next = value + operand;
                    verb = $"buys {operand} more, so there are {value} + {operand} = <<{value}+{operand}={next}>>{next:N0}";
                    break;
                case 1 when value > operand:
                    next = value - operand;
                    verb = $"gives away {operand}, leaving {value} - {operand} = <<{value}-{operand}={next}>>{next:N0}";
                    break;
                default:
                    operand = random.Next(2, 5);
                    next = value * operand;
                    verb = $"multiplies the pile by {operand}, making {value} * {operand} = <<{value}*{operand}={next}>>{next:N0}";
                    break;
            }

            text.Append(CultureInfo.InvariantCulture, $"Then she {verb} {item}.\n");
            value = next;
        }

        long stated = random.Next(10) == 0 ? value + 1 : value;
        text.Append(random.Next(5) == 0
            ? string.Create(CultureInfo.InvariantCulture, $"The answer is {stated:N0}.")
            : string.Create(CultureInfo.InvariantCulture, $"#### {stated}"));
        return (text.ToString(), value.ToString(CultureInfo.InvariantCulture));
    }
}
