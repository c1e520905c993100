#!/usr/bin/env node
// CDK entry point (cdk.json "app"). The CLI synthesizes the app when this process exits.
import { DEFAULT_REGION } from '../config/index.js';
import { createGoalTrackerApp } from '../lib/goal-tracker-app.js';

// The CLI sets CDK_DEFAULT_REGION from AWS_REGION or the profile, without calling AWS.
createGoalTrackerApp({ region: process.env.CDK_DEFAULT_REGION || DEFAULT_REGION });
