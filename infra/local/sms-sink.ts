import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { escapeHtml, listen, readRequestBody, sendJson, type RunningServer } from './http-util.ts';
import { LOOPBACK } from './ports.ts';

export interface SmsMessage {
  messageId: string;
  to: string;
  from: string | null;
  body: string;
  messageType: string | null;
  configurationSet: string | null;
  context: Record<string, string>;
  receivedAt: string;
}

/**
 * The local SMS provider: it answers AWS End User Messaging SMS `SendTextMessage` calls
 * (pinpoint-sms-voice-v2, AWS JSON 1.0 protocol) so the same SDK code runs locally, keeps
 * what was sent, and shows it in a viewer (`GET /`) and as JSON (`GET /messages`).
 */
export class SmsSink {
  readonly messages: SmsMessage[] = [];
  private running: RunningServer | undefined;
  requests = 0;

  get url(): string {
    if (!this.running) throw new Error('SMS sink not started');
    return this.running.url;
  }

  async start(port = 0): Promise<void> {
    this.running = await listen((req, res) => this.handle(req, res), port, LOOPBACK);
  }

  async stop(): Promise<void> {
    await this.running?.close();
    this.running = undefined;
  }

  clear(): void {
    this.messages.length = 0;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const target = req.headers['x-amz-target'];
    if (req.method === 'POST' && typeof target === 'string') return this.handleApi(target, await readRequestBody(req), res);
    if (req.method === 'GET' && url.pathname === '/messages') {
      const to = url.searchParams.get('to');
      return sendJson(res, 200, { messages: to ? this.messages.filter((m) => m.to === to) : this.messages });
    }
    if (req.method === 'DELETE' && url.pathname === '/messages') {
      this.clear();
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'GET' && url.pathname === '/health') return sendJson(res, 200, { status: 'up' });
    if (req.method === 'GET' && url.pathname === '/') {
      const markup = this.viewer();
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(markup);
      return;
    }
    sendJson(res, 404, { message: 'Not Found' });
  }

  private handleApi(target: string, raw: Buffer, res: ServerResponse): void {
    this.requests++;
    const error = (status: number, type: string, message: string) =>
      sendJson(res, status, { __type: type, message }, { 'x-amzn-errortype': type, 'content-type': 'application/x-amz-json-1.0' });
    if (target !== 'PinpointSMSVoiceV2.SendTextMessage') return error(400, 'UnknownOperationException', `${target} is not supported by the local SMS sink`);
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return error(400, 'ValidationException', 'Request body is not JSON');
    }
    const to = input.DestinationPhoneNumber;
    const body = input.MessageBody;
    if (typeof to !== 'string' || !/^\+[1-9]\d{1,14}$/.test(to)) {
      return error(400, 'ValidationException', 'DestinationPhoneNumber must be an E.164 phone number');
    }
    if (typeof body !== 'string' || body.length === 0 || body.length > 1600) {
      return error(400, 'ValidationException', 'MessageBody must be 1 to 1600 characters');
    }
    const message: SmsMessage = {
      messageId: randomUUID(),
      to,
      from: typeof input.OriginationIdentity === 'string' ? input.OriginationIdentity : null,
      body,
      messageType: typeof input.MessageType === 'string' ? input.MessageType : null,
      configurationSet: typeof input.ConfigurationSetName === 'string' ? input.ConfigurationSetName : null,
      context: (input.Context as Record<string, string> | undefined) ?? {},
      receivedAt: new Date().toISOString(),
    };
    if (input.DryRun !== true) this.messages.push(message);
    sendJson(res, 200, { MessageId: message.messageId }, { 'content-type': 'application/x-amz-json-1.0' });
  }

  private viewer(): string {
    const rows = [...this.messages]
      .reverse()
      .map(
        (m) =>
          `<tr><td>${escapeHtml(m.receivedAt)}</td><td>${escapeHtml(m.to)}</td><td>${escapeHtml(m.from ?? '')}</td><td class="body">${escapeHtml(m.body)}</td></tr>`,
      )
      .join('');
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Touchloop SMS sink</title>
<meta http-equiv="refresh" content="3">
<style>body{font:14px system-ui,sans-serif;margin:2rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}.body{white-space:pre-wrap}</style>
</head><body><h1>SMS sink</h1><p>${this.messages.length} message(s). JSON at <a href="/messages">/messages</a>. This page refreshes every 3 s.</p>
<table><thead><tr><th>Received</th><th>To</th><th>From</th><th>Message</th></tr></thead><tbody>${rows}</tbody></table></body></html>`;
  }
}
