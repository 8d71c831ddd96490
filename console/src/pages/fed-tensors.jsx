// The answer of the preprocessing dry-run (POST .../preprocess).

/** What the preprocessing dry-run answers: each input tensor's statistics and a grey image
 *  of each of its channels. */
export function FedTensors({ inputs }) {
  return (
    <section aria-labelledby="fed-heading" data-testid="fed">
      <h3 id="fed-heading">What the network receives</h3>
      {inputs.map((input) => (
        <figure key={input.name} class="fed">
          <figcaption>
            <code>{input.name}</code> · shape [{input.shape.join(', ')}] · {input.dtype} · min{' '}
            {input.min?.toPrecision(4)} · mean {input.mean?.toPrecision(4)} · max {input.max?.toPrecision(4)}
          </figcaption>
          <div class="channels">
            {input.channels.map((channel, index) => (
              <img
                key={index}
                src={channel}
                alt={`${input.name}, channel ${index}`}
                title={`channel ${index}`}
              />
            ))}
          </div>
        </figure>
      ))}
    </section>
  );
}
