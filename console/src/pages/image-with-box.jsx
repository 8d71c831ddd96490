// The image to try, with the region drawn on it.

import { useRef } from 'preact/hooks';

export const CORNERS = ['xmin', 'ymin', 'xmax', 'ymax'];

function clamp(value) {
  return Math.min(1, Math.max(0, value));
}

/** The image with the region drawn on it (dragging on it draws a new one) and the boxes
 *  ``found`` in it (``{bbox, label}``, coordinates relative to the image). */
export function ImageWithBox({ src, box, onBox, found }) {
  const frame = useRef(null);
  const start = useRef(null);
  const at = (event) => {
    const rect = frame.current.getBoundingClientRect();
    return {
      x: clamp((event.clientX - rect.left) / rect.width),
      y: clamp((event.clientY - rect.top) / rect.height),
    };
  };
  const drag = (event) => {
    if (!start.current) return;
    const point = at(event);
    const from = start.current;
    onBox({
      xmin: Math.min(from.x, point.x),
      ymin: Math.min(from.y, point.y),
      xmax: Math.max(from.x, point.x),
      ymax: Math.max(from.y, point.y),
    });
  };
  return (
    <div
      class="image-frame"
      ref={frame}
      data-testid="image-frame"
      onPointerDown={(event) => {
        event.preventDefault();
        frame.current.setPointerCapture(event.pointerId);
        start.current = at(event);
      }}
      onPointerMove={drag}
      onPointerUp={(event) => {
        drag(event);
        start.current = null;
      }}
    >
      <img src={src} alt="The image to run the network on" draggable={false} />
      {(found || []).map((item, index) => (
        <div
          key={index}
          class="found"
          style={{
            left: `${item.bbox.xmin * 100}%`,
            top: `${item.bbox.ymin * 100}%`,
            width: `${(item.bbox.xmax - item.bbox.xmin) * 100}%`,
            height: `${(item.bbox.ymax - item.bbox.ymin) * 100}%`,
          }}
        >
          <span>{item.label}</span>
        </div>
      ))}
      {box && (
        <div
          class="box"
          aria-hidden="true"
          style={{
            left: `${box.xmin * 100}%`,
            top: `${box.ymin * 100}%`,
            width: `${(box.xmax - box.xmin) * 100}%`,
            height: `${(box.ymax - box.ymin) * 100}%`,
          }}
        />
      )}
    </div>
  );
}
