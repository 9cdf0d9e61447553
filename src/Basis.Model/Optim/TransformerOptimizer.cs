namespace Basis.Model.Optim;

/// <summary>An <see cref="AdamW"/> bound to the built-in model whose flat weights and gradients it steps.</summary>
public sealed class TransformerOptimizer(TransformerModel model, AdamW adamW) : IPolicyOptimizer
{
    public AdamW AdamW { get; } = adamW ?? throw new ArgumentNullException(nameof(adamW));

    public int StepCount => AdamW.StepCount;

    public void Step(float learningRate) => AdamW.Step(model, learningRate);

    public AdamWState ExportState() => AdamW.ExportState();

    public void ImportState(AdamWState state) => AdamW.ImportState(state);
}
