// The gate page's camera: the rear camera through getUserMedia, decoded a few times a second
// with the browser's BarcodeDetector when it reads QR codes, else with the bundled jsQR
// (crates/server/assets/vendor/jsQR.js, loaded only when needed). It only reads codes; what
// to do with them is the caller's business.

const INTERVAL_MS = 120;
/** Frames are scaled down to at most this width before jsQR looks at them. */
const JSQR_MAX_WIDTH = 960;

/** A decoder: `{ name, detect(video) -> Promise<string|null> }`. */
async function pickDecoder() {
  if ('BarcodeDetector' in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes('qr_code')) {
        const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
        return {
          name: 'BarcodeDetector',
          async detect(video) {
            const found = await detector.detect(video);
            return found.length > 0 ? found[0].rawValue : null;
          },
        };
      }
    } catch (_) {
      // Present but unusable: fall through to jsQR.
    }
  }
  const jsQR = await loadJsQR();
  const canvas = document.createElement('canvas');
  const context = canvas.getContext('2d', { willReadFrequently: true });
  return {
    name: 'jsQR',
    async detect(video) {
      const scale = Math.min(1, JSQR_MAX_WIDTH / video.videoWidth);
      const width = Math.round(video.videoWidth * scale);
      const height = Math.round(video.videoHeight * scale);
      if (width === 0 || height === 0) return null;
      if (canvas.width !== width || canvas.height !== height) {
        canvas.width = width;
        canvas.height = height;
      }
      context.drawImage(video, 0, 0, width, height);
      const image = context.getImageData(0, 0, width, height);
      const code = jsQR(image.data, width, height, { inversionAttempts: 'attemptBoth' });
      return code ? code.data : null;
    },
  };
}

function loadJsQR() {
  if (window.jsQR) return Promise.resolve(window.jsQR);
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = '/gate/assets/jsQR.js';
    script.onload = () => (window.jsQR ? resolve(window.jsQR) : reject(new Error('jsQR did not load')));
    script.onerror = () => reject(new Error('the QR decoder could not be loaded'));
    document.head.appendChild(script);
  });
}

/** Why the camera cannot start, in words for the person holding the phone. */
export function cameraUnavailable() {
  if (!window.isSecureContext) {
    return 'The camera needs the page over HTTPS (or on this device itself). Use the code field or a scanner.';
  }
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return 'This browser gives the page no camera. Use the code field or a scanner.';
  }
  return null;
}

/**
 * Starts the rear camera in `video` and calls `onCode(text)` for every code read (the caller
 * debounces). Resolves to `{ decoder, stop() }`; rejects with a readable Error.
 */
export async function startCamera(video, onCode) {
  const why = cameraUnavailable();
  if (why) throw new Error(why);
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: 'environment' }, width: { ideal: 1280 }, height: { ideal: 720 } },
    });
  } catch (e) {
    const denied = e && (e.name === 'NotAllowedError' || e.name === 'SecurityError');
    throw new Error(denied
      ? 'Camera permission was refused. Allow the camera for this page, or use the code field.'
      : 'No camera could be opened. Use the code field or a scanner.');
  }
  video.srcObject = stream;
  let decoder;
  try {
    await video.play();
    decoder = await pickDecoder();
  } catch (e) {
    stream.getTracks().forEach((t) => t.stop());
    video.srcObject = null;
    throw new Error(e && e.message ? e.message : 'The camera could not start.');
  }
  let running = true;
  let timer = null;
  const tick = async () => {
    if (!running) return;
    if (!document.hidden && video.readyState >= 2) {
      try {
        const text = await decoder.detect(video);
        if (running && text) onCode(text);
      } catch (_) {
        // One unreadable frame is not an error; the next one may be fine.
      }
    }
    if (running) timer = setTimeout(tick, INTERVAL_MS);
  };
  tick();
  return {
    decoder: decoder.name,
    stop() {
      running = false;
      clearTimeout(timer);
      stream.getTracks().forEach((t) => t.stop());
      video.srcObject = null;
    },
  };
}
