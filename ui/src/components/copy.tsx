// A button that copies text to the clipboard (with a fallback for non-secure origins) and says so.
import { useState } from 'preact/hooks';
import { announce } from './status';

async function writeClipboard(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain http on a LAN address is not a secure context: the old selection-based copy still works there.
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.append(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('copy refused');
}

export function CopyButton({ text, label = 'Copy', what = 'Text' }: { text: string; label?: string; what?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      class="copy"
      onClick={async () => {
        try {
          await writeClipboard(text);
          setCopied(true);
          announce(`${what} copied to the clipboard.`);
          setTimeout(() => setCopied(false), 2000);
        } catch {
          announce('The browser refused to copy; select the text and copy it by hand.');
        }
      }}
    >
      {copied ? 'Copied' : label}
    </button>
  );
}
